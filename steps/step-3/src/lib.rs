//! Step 3: the consumer Lambda (being written).
