"""ISDN primary rate (30B+D): Q.921 LAPD and Q.931 call control on timeslot 16, sans-IO."""
