//! Usage errors as one line: clap's own rendering spans 3–5 lines (the error, a tip, the
//! usage block, "For more information"), which breaks the CLI's rule that a refusal is one
//! `error:` line saying what to do. Help and version requests are not errors and print whole.

use clap::error::ErrorKind;
use clap::CommandFactory as _;

/// The one `error:` line (with its newline) for a usage error in `argv` (the arguments
/// after the program name), or None for clap's help and version output, which prints as
/// clap renders it.
pub fn one_line(e: &clap::Error, argv: &[String]) -> Option<String> {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return None;
    }
    // Plain text: `StyledStr`'s Display drops the colours.
    Some(flatten(&e.render().to_string(), &command_path(argv)))
}

/// The subcommands `argv` names, e.g. `grove decision list`: as far as they are known,
/// skipping options and their values.
fn command_path(argv: &[String]) -> String {
    let mut cmd = crate::args::Cli::command();
    let mut path = vec![cmd.get_name().to_string()];
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        if let Some(long) = arg.strip_prefix("--") {
            // `--home DIR` takes the next word, `--home=DIR` and flags do not.
            let takes_value = !long.contains('=')
                && cmd
                    .get_arguments()
                    .find(|a| a.get_long() == Some(long))
                    .is_some_and(|a| a.get_action().takes_values());
            if takes_value {
                args.next();
            }
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(arg) {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                let sub = sub.clone();
                cmd = sub;
            }
            // A positional value: no deeper command follows it.
            None => break,
        }
    }
    path.join(" ")
}

/// clap's rendering folded into one line: the error and its details (tips, possible
/// values), then where to read more: the help of `command`.
fn flatten(rendered: &str, command: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.starts_with("Usage:") {
            break;
        }
        if line.is_empty() || line.starts_with("For more information") {
            continue;
        }
        parts.push(line);
    }
    let mut text = parts.join(" ");
    if !text.starts_with("error:") {
        text.insert_str(0, "error: ");
    }
    format!("{text}; see `{command} --help`\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_fold_into_one_line_naming_the_commands_help() {
        let rendered = "error: invalid value 'x' for '--zone <ZONE>'\n  [possible values: local, \
                        centre-awareness]\n\n  tip: a similar value exists: 'local'\n\nUsage: \
                        grove decision list [OPTIONS]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            flatten(rendered, "grove decision list"),
            "error: invalid value 'x' for '--zone <ZONE>' [possible values: local, \
             centre-awareness] tip: a similar value exists: 'local'; see `grove decision list \
             --help`\n"
        );
        assert_eq!(
            flatten(
                "error: unrecognized subcommand 'x'\n\nUsage: grove [OPTIONS] <COMMAND>\n",
                "grove"
            ),
            "error: unrecognized subcommand 'x'; see `grove --help`\n"
        );
    }

    #[test]
    fn the_command_path_skips_options_and_their_values() {
        let argv = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            command_path(&argv("--home decision decision --json list --zone x")),
            "grove decision list"
        );
        assert_eq!(
            command_path(&argv("--home=h value show v-1")),
            "grove value show"
        );
        assert_eq!(command_path(&argv("frobnicate")), "grove");
    }
}
