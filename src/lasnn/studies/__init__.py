"""Studies of the LAS conversion: the time-step sweep and the OAT / HG ablations."""
