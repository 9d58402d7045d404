"""What onsite does to a site: bundles, steps, push and relay, preflight, the
runner and its journal, verify, and the lifecycles that put them in order.
Headless: front ends drive it and render its events."""
