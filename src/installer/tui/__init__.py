"""The Textual wizard (front end). Start it with `onsite` or `onsite wizard FILE`."""
