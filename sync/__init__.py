"""The sync protocol of SYNC.md: device tokens, push (mutations), pull (a change log) and photos.

It sits between the web layer and the domain: it validates what devices send, hands the same
plain data to the same domain services the web forms use, and tells devices what changed.
"""
