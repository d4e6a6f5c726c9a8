package tsa

// FramesEnd is where the valid frames of a segment end.
func FramesEnd(b []byte) int64 {
	_, end, _ := decodeFrames(b, -1)
	return end
}
