"""This process among several replicas: following what others commit, and leading or following.

``replica``: follows the shared log (other replicas' records go to the projection loop,
``relayer.events.projection``) and campaigns for the lead; while it leads, it runs the
leader-only parts (``relayer.lifecycle.LeaderOnly``: chain monitors, webhook delivery).
"""
