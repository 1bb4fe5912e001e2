//! One module per part of the stack, in the original generator's build order. Each has
//! `add(template, options)`, which adds that part's parameters, resources and outputs.

use crate::options::Options;
use crate::template::Template;

pub mod alarms;
pub mod application;
pub mod backup_checker;
pub mod backup_schedule;
pub mod bastion;
pub mod certs;
pub mod database;
pub mod document_backups;
pub mod document_store;
pub mod efs;
pub mod foundation;
pub mod logs;
pub mod network;
pub mod nfs_backup;
pub mod outputs;
pub mod recovery;
pub mod redis;
pub mod restore_drill;

/// Adds every component, in build order. ([`crate::generate`] then marks the scanner's
/// accepted findings and finishes a drill.)
pub fn build(t: &mut Template, o: &Options) {
    foundation::add_parameters(t, o);
    network::add(t, o);
    foundation::add(t, o);
    logs::add(t, o);
    backup_schedule::add(t, o);
    if o.bastion() {
        bastion::add(t, o);
    }
    efs::add(t, o);
    redis::add(t, o);
    database::add(t, o);
    certs::add(t, o);
    nfs_backup::add(t, o);
    if o.document_store() {
        document_store::add(t, o);
        // A drill takes no backups of its own.
        if !o.drill {
            document_backups::add(t, o);
        }
    }
    if !o.drill {
        backup_checker::add(t, o);
    }
    recovery::add(t, o);
    application::add(t, o);
    // After the services whose log groups it adopts.
    logs::add_service_log_groups(t, o);
    // After what they watch (the application's health refers to its environment).
    if o.drill {
        application::health::add_service_role(t);
    } else {
        alarms::add(t, o);
    }
    // After the database, the document store and EFS, whose security groups it joins.
    restore_drill::add(t, o);
    outputs::add(t, o);
    alarms::add_parameter_groups(t);
}
