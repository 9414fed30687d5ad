package main

// The flow's business hours need Asia/Tokyo (or the city's zone) even in a
// container without /usr/share/zoneinfo; embedding the database costs ~450 KB.
import _ "time/tzdata"
