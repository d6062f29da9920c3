package xdrsim

// Finish stops making new records; the run ends once every outstanding
// record has settled (or Config.DrainTimeout has passed), as when Count or
// Duration is reached. Wait returns the summary.
func (s *Sim) Finish() { s.exhaust() }
