//! How the command ends: the exit status, flushed output, and no exit
//! handlers under a thread still opening a GPU.

use std::io::Write;

/// Ends the process with status `code`, output flushed. While a thread
/// still opens a GPU for a scan that ended first (`--backend gpu+native`),
/// without the exit handlers (`_exit`): a driver torn down under the thread
/// opening it can crash the process.
pub(crate) fn end(code: u8) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    if vyre::scan::gpu_still_opening() {
        // SAFETY: `_exit` ends the process at once; everything this program
        // writes is flushed above, and no file it writes is left half done.
        unsafe { libc::_exit(i32::from(code)) }
    }
    std::process::exit(i32::from(code))
}

/// Stops the scan when its results cannot be written: quietly with status 0
/// when the reader has gone (`| head -1`, as ripgrep does), otherwise (a full
/// disk, `> /dev/full`) with the error and status 2. Either way at once:
/// scanning on would only produce output nobody gets.
pub(crate) fn write_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        quiet_exit()
    }
    warn(format_args!(
        "vyre: writing results failed: {e}. Fix: make the output writable (disk space, the program reading it)"
    ));
    end(2)
}

/// Ends the process with status 0 and no message: the reader of our output
/// has gone, so nothing more is wanted.
fn quiet_exit() -> ! {
    end(0)
}

/// Prints a line on stderr; a closed or failing stderr is ignored (unlike
/// `eprintln!`, which panics).
pub(crate) fn warn(msg: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}
