"""Call media: WAV prompts and recordings, supervisor monitor / whisper / barge-in mixing."""
