"""The plan and its rules: the answer file (YAML in, YAML out), the product
profile, validation, the IP sheet. Pure data and logic; imports nothing else
of onsite."""
