"""Faster synthesis for decoding: bfloat16 autocast and int8 convolutions (decode --fast), and which of them
this CPU computes natively."""
