"""The only code that touches the network.

Transport (with its limits), URL checks, retry, redaction, progress and the client base.
"""
