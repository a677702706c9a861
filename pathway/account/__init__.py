"""The account: what belongs to the person, not to a share."""
