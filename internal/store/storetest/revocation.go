package storetest

// revocationCases returns the conformance cases of revocation, CRLs and leases.
func revocationCases() []testCase { return nil }
