//! Step 5: real-time analysis in tumbling windows (being written).
