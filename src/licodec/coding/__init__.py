"""The only place that talks to the entropy coder (constriction), and the .lic file container."""
