"""This process among several replicas: applying what others commit, and leading or following.

``fanout``: records committed by other replicas, folded into the local state
and published on the local bus. ``duties``: what only the leader runs.
``replica``: both wired into the app's lifespan, and the status health reports.
"""
