"""The rainbow gRPC server: servicers (wire translation), the scheduler (request orchestration), auth and limits.

Import the pieces from their modules (`rainbow.server.app`, `rainbow.server.scheduler`); this package module stays
empty so that importing one part does not pull in gRPC for the others.
"""
