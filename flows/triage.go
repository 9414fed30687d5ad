package flows

type triager struct{}
