"""Handling workflows (SPEC §9.1): definitions as data, published immutable versions, and the one
generic viewflow Flow that interprets whichever version a case started with."""
