// Everything in the contracts that a script reads, as one JSON object (`sigma-ledger schema`): the ledger's
// events and components, the preflight levels, the prolog's and the task's verdicts, the SIGMA_* environment
// names. Python and shell readers take names from it instead of spelling their own lists.
#pragma once

#include <nlohmann/json.hpp>

namespace sigma {

nlohmann::json contracts_schema();

}  // namespace sigma
