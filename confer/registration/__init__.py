"""Registration: joining a conference (open, by approval, by invitation), capacity, the
waitlist, invitations and organisers' decisions."""
