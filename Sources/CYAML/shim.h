#ifndef CYAML_SHIM_H
#define CYAML_SHIM_H

/* libyaml (Debian: libyaml-dev; at run time libyaml-0-2): the spec file's YAML parser. */
#include <yaml.h>

#endif
