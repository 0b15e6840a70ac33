//! A learner's unfinished step, recognised in what its code said: a `todo!()` reached (or any other panic) in a
//! step's tool or function. `lab --mine` and `deploy` report it in one line, naming the step, and never mistake it
//! for something worth waiting for (a role IAM has not propagated yet, a slow cloud).

/// What `todo!("...")` panics with (the standard library's `todo!` macro).
const TODO: &str = "not yet implemented";

/// The panic in a process's output or a function's error message, as one line: `todo!() reached: <its text>` or
/// `panicked: <message>`. `None` when the text holds no panic.
///
/// A tool (a process) prints `thread 'main' panicked at <file>:<line>:<column>:` (Rust 1.95: `thread 'main'
/// (<id>) panicked at ...`) and then the message on the next line; a Lambda function's runtime (lambda_runtime 1.5, `layers/panic.rs`) reports `Lambda panicked: <message>`.
pub fn panic_in(text: &str) -> Option<String> {
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let (message, place) = if let Some(place) = line.strip_prefix("thread '").and_then(|rest| {
            let at = rest.find(" panicked at ")?;
            Some(rest[at + " panicked at ".len()..].trim_end_matches(':').to_owned())
        }) {
            // Since Rust 1.73 the message is on the line after the location.
            (lines.next().unwrap_or_default().to_owned(), Some(place))
        } else if let Some(message) = line.split("Lambda panicked: ").nth(1) {
            (message.to_owned(), None)
        } else {
            continue;
        };
        let at = place.map(|place| format!(" (at {place})")).unwrap_or_default();
        return Some(match message.strip_prefix(TODO) {
            Some(rest) => format!("reached a todo!(){at}: {}", rest.trim_start_matches(':').trim()),
            None => format!("panicked{at}: {message}"),
        });
    }
    None
}

/// The one line a run stops with when `what` (e.g. "producer", "`ensure-delivery-stream`") of step `step` (its id,
/// `step-2`) panicked as [`panic_in`] describes.
pub fn stopped_by(step: &str, what: &str, panic: &str) -> String {
    format!(
        "{}'s {what} {panic}. Finish it (`cargo xtask check {step}` says what is left), or run the solutions (without \
         --mine).",
        step.replacen('-', " ", 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tools_todo_is_named_with_its_place_and_text() {
        for thread in ["thread 'main'", "thread 'main' (28983)"] {
            let stderr = format!(
                "{thread} panicked at steps/step-4/src/lib.rs:101:5:\nnot yet implemented: create the delivery \
                 stream\nnote: run with `RUST_BACKTRACE=1` ..."
            );
            assert_eq!(
                panic_in(&stderr).as_deref(),
                Some("reached a todo!() (at steps/step-4/src/lib.rs:101:5): create the delivery stream")
            );
        }
    }

    #[test]
    fn a_functions_panic_is_named_from_the_runtimes_report() {
        let todo = "Lambda panicked: not yet implemented: send the batch, resend what was refused";
        assert_eq!(
            panic_in(todo).as_deref(),
            Some("reached a todo!(): send the batch, resend what was refused")
        );
        let other = "Lambda panicked: index out of bounds: the len is 0 but the index is 0";
        assert_eq!(
            panic_in(other).as_deref(),
            Some("panicked: index out of bounds: the len is 0 but the index is 0")
        );
    }

    #[test]
    fn an_error_that_is_not_a_panic_is_not_one() {
        assert_eq!(panic_in("ResourceNotFoundException: Stream x not found"), None);
        assert_eq!(panic_in(""), None);
    }
}
