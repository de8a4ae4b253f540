"""AMI: the Asterisk Manager Interface and nothing of campaigns.

``wire`` is the sans-IO framing shared by the client and the simulator; ``pbx`` is the typed port the engine
drives (it never sees a raw AMI message); ``client`` implements it over one connection that keeps itself
alive, ``pool`` over several servers; ``events`` turns AMI events into the port's typed events.
``simulator`` plays Asterisk 22 over TCP for tests, the demo and benchmarks.
"""
