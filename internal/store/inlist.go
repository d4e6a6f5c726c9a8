package store

// maxInList bounds the placeholders of one IN (...) list.
const maxInList = 500

// inLists calls fn once per run of at most maxInList values, in order, with the
// run's placeholders ("?, ?, …", to Rebind) and its values as query arguments.
func inLists[T any](values []T, fn func(placeholders string, args []any) error) error {
	for len(values) > 0 {
		n := min(len(values), maxInList)
		args := make([]any, n)
		for i, v := range values[:n] {
			args[i] = v
		}
		if err := fn(placeholders(n), args); err != nil {
			return err
		}
		values = values[n:]
	}
	return nil
}
