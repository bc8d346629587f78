"""Handling workflows: the generic viewflow Flow that interprets WorkflowDefinitions (SPEC §2).

The flow and its nodes arrive with the workflow issue; the package exists so that the layout
of SPEC §1 is in place from the start.
"""
