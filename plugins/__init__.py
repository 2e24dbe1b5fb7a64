"""scanserve plugins: the hook specifications, the plugin manager and the built-in providers.

Plugin authors import the hook marker and the provider interfaces from here and nothing else.
"""
