"""In people's calendars (issue #24): iCalendar files for a session, a programme and a member's
secret feed; starred sessions ("My programme"); joining links shown to active members only."""
