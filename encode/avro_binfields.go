package encode

// HasBin reports whether records written with the schema carry a bin named
// name: always with the built-in schema (its bins map holds every bin); with
// a user schema, when a top-level bin field is named so.
func (c *CompiledAvroSchema) HasBin(name string) bool {
	if c.plan == nil {
		return true
	}
	_, ok := c.plan.binField[name]
	return ok
}
