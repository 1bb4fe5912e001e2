//! efs

use crate::options::Options;
use crate::template::Template;

pub fn add(_t: &mut Template, _o: &Options) {}
