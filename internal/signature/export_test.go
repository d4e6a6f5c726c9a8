package signature

// AttributeValues exposes attributeValues to the fuzz target.
var AttributeValues = attributeValues
