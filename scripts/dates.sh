# Sourced: the dates the suite must pass on (scripts/date-matrix.sh runs them
# all; scripts/test.sh runs one of them each day besides today). Each is an
# instant and the demo organisation's time zone: Europe/Moscow (UTC+3, no
# daylight saving) or Europe/London (GMT/BST).
MATRIX_DATES=(
  "2027-03-01T10:00:00+03:00 Europe/Moscow" # the 1st of a month
  "2027-03-02T10:00:00+03:00 Europe/Moscow" # the 2nd
  "2027-03-15T13:00:00+03:00 Europe/Moscow" # the 15th
  "2027-04-30T18:00:00+03:00 Europe/Moscow" # the last day of a month
  "2027-12-31T23:30:00+03:00 Europe/Moscow" # 31 December 23:30 in the organisation's time zone
  "2028-01-01T09:00:00+03:00 Europe/Moscow" # 1 January
  "2027-03-28T12:00:00+01:00 Europe/London" # clocks go forward at 01:00 GMT (BST starts)
  "2027-10-31T12:00:00+00:00 Europe/London" # clocks go back at 02:00 BST (BST ends)
)
