"""The HTTP API: routes, request and response models, dependencies (authentication, the triage pipeline), request guards."""
