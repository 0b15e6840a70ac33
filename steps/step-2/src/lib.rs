//! Step 2: the producer Lambda (being written).
