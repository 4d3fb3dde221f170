/* graph_services.h -- fills the graph-building entries of the host table. */
#ifndef CVL_PLUGINS_GRAPH_SERVICES_H
#define CVL_PLUGINS_GRAPH_SERVICES_H

#include <cvl/plugin.h>

void cvl_graph_services_fill(cvl_host *h);

#endif
