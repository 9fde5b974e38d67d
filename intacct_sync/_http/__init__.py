"""The only code that touches the network: transport, retry, redaction, progress, client base."""
