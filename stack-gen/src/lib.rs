//! stack-gen: the OpenEMR CloudFormation stack, generated from the original `stack.py` flags.
//!
//! `Options` (the flags) -> [`generate`] -> [`Template`] (ordered JSON). Each part of the stack
//! is a module under [`components`], called in the original's build order.

pub mod cfn;
pub mod cli;
pub mod components;
pub mod graph;
pub mod instance;
pub mod lambda;
pub mod options;
pub mod output;
pub mod scanner;
pub mod stack;
pub mod template;

pub use components::application::bundle;
pub use options::{CodeLocation, Options, OptionsError};
pub use template::Template;

/// Builds the whole template for `options`, or says which option is wrong.
pub fn generate(options: &Options) -> Result<Template, OptionsError> {
    options.validate()?;
    let mut t = Template::new(options.description());
    components::build(&mut t, options);
    // The scanner's accepted findings go into the Metadata of the resources built.
    scanner::apply(&mut t, options);
    // Last: nothing of a drill survives it.
    if options.drill {
        components::restore_drill::name_everything(&mut t);
        components::restore_drill::delete_everything(&mut t);
    }
    Ok(t)
}

/// Every combination of the boolean flags the reference inventory covers, by its name there.
pub fn reference_combinations() -> Vec<(&'static str, Options)> {
    let o = |dual_az, recovery, dev, force_bastion, skip_document_store| Options {
        dual_az,
        recovery,
        dev,
        force_bastion,
        skip_document_store,
        ..Options::default()
    };
    vec![
        ("default", o(false, false, false, false, false)),
        ("dual-az", o(true, false, false, false, false)),
        ("recovery", o(false, true, false, false, false)),
        ("recovery_dual-az", o(true, true, false, false, false)),
        ("dev", o(false, false, true, false, false)),
        ("force-bastion", o(false, false, false, true, false)),
        ("skip-document-store", o(false, false, false, false, true)),
        ("dev_dual-az_recovery", o(true, true, true, false, false)),
    ]
}

/// The drill stacks `template/` holds and the tests check: (name, the source's options), the
/// template generated from [`Options::drill_options`] of them (what `stack-ops package` uploads).
pub fn drill_combinations() -> Vec<(&'static str, Options)> {
    reference_combinations()
        .into_iter()
        .filter(|(name, _)| ["default", "skip-document-store"].contains(name))
        .map(|(name, o)| {
            let name = if name == "default" {
                "drill"
            } else {
                "drill_skip-document-store"
            };
            (name, o.drill_options())
        })
        .collect()
}
