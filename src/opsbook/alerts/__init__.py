"""Alerts: the lifecycle of a rule's condition (pending → firing → resolved), and the
muting (silences, maintenance windows, inhibition) and flapping that decide whether a
firing alert is worth a notification. Everything here is pure: (state, input, now) → state.
"""
