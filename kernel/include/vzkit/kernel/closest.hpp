// "Did you mean" suggestions for misspelled names (plugins, keys, commands).
#pragma once

#include <string>
#include <vector>

namespace vzkit::kernel {

/// The candidate closest to `word` by edit distance, or "" when none is close enough to suggest.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace vzkit::kernel
