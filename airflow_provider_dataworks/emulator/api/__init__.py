"""The emulator's API layer: DataWorks' OpenAPI (and STS) over HTTP in front of the model (``emulator/backend``).

``httpd`` serves HTTP (aiohttp) as ``messages``; ``wire`` answers one request: ``auth`` and ``signature`` check who
signed it, ``quota`` and ``faults`` may refuse it, ``handlers`` (with ``params``) types and carries it out on the
backend, ``render`` and ``listing`` shape the answer as the official API does; ``sts`` plays STS; ``call_log``
keeps every call. ``control_api`` is the emulator's own control API and its client. The model never imports this
layer.
"""
