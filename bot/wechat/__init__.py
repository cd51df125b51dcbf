"""The WeChat push protocol: signatures, AES envelopes, message parsing and passive replies."""
