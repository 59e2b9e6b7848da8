//! `operations!`: from one declaration per command (src-tauri/src/commands.rs) it makes
//! the Tauri command, the invoke handler that lists it, its name in `COMMAND_NAMES`, and
//! its [`Signature`], from which src-tauri/src/bindings.rs writes the TypeScript `Api`.

use ts_rs::{Config, TS};

/// A command as the window calls it: its name, documentation, named arguments and result,
/// each type as TypeScript names it.
pub struct Signature {
    pub name: &'static str,
    pub doc: Vec<&'static str>,
    pub args: Vec<(&'static str, String)>,
    pub ret: String,
}

/// The TypeScript name of `T` (in the generated bindings every named type is declared).
pub fn ts<T: TS>(cfg: &Config) -> String {
    T::name(cfg)
}

/// Expands the list of declarations in commands.rs; see that file for the three kinds.
macro_rules! operations {
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty;
    )*) => {
        $( $crate::operations::command!($kind; [$($doc),*]; $name; [$($arg: $ty),*]; $ret); )*

        /// The names of every command, in the order they are declared.
        pub const COMMAND_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Routes the window's calls to the commands above.
        pub fn invoke_handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// Every command's signature, for the TypeScript bindings.
        pub fn signatures(cfg: &ts_rs::Config) -> Vec<$crate::operations::Signature> {
            vec![$(
                $crate::operations::Signature {
                    name: stringify!($name),
                    doc: vec![$($doc),*],
                    args: $crate::operations::args!($kind; cfg; $($arg: $ty),*),
                    ret: $crate::operations::ts::<$ret>(cfg),
                }
            ),*]
        }
    };
}

/// One Tauri command of kind `circle`, `node` or `own` (see commands.rs).
macro_rules! command {
    (circle; [$($doc:literal),*]; $name:ident; [$($arg:ident: $ty:ty),*]; $ret:ty) => {
        $(#[doc = $doc])*
        #[tauri::command(rename_all = "snake_case")]
        pub async fn $name(s: S<'_>, circle: String, $($arg: $ty),*) -> CommandResult<$ret> {
            Ok(s.circle(circle)?.$name($($arg),*).await?)
        }
    };
    (node; [$($doc:literal),*]; $name:ident; [$($arg:ident: $ty:ty),*]; $ret:ty) => {
        $(#[doc = $doc])*
        #[tauri::command(rename_all = "snake_case")]
        pub async fn $name(s: S<'_>, $($arg: $ty),*) -> CommandResult<$ret> {
            Ok(s.node()?.$name($($arg),*).await?)
        }
    };
    (own; [$($doc:literal),*]; $name:ident; [$($arg:ident: $ty:ty),*]; $ret:ty) => {
        $(#[doc = $doc])*
        #[tauri::command(rename_all = "snake_case")]
        pub async fn $name(s: S<'_>, $($arg: $ty),*) -> CommandResult<$ret> {
            own::$name(&s, $($arg),*).await
        }
    };
}

/// A command's arguments as the window passes them: a `circle` command's circle id first.
macro_rules! args {
    (circle; $cfg:ident; $($arg:ident: $ty:ty),*) => {
        vec![("circle", $crate::operations::ts::<String>($cfg)), $((stringify!($arg), $crate::operations::ts::<$ty>($cfg))),*]
    };
    ($kind:ident; $cfg:ident; $($arg:ident: $ty:ty),*) => {
        vec![$((stringify!($arg), $crate::operations::ts::<$ty>($cfg))),*]
    };
}

pub(crate) use {args, command, operations};
