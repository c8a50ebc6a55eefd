// nbla::utils::load_parameters / save_parameters over nnvae's .protobuf
// parameter files (nnvae/parameter_file.hpp).
//
// As in NNabla they return whether they succeeded and never throw: a file
// that does not exist is the usual case for a program that looks for earlier
// parameters, so it is reported in one line and the directory is left as it
// is (training starts from fresh parameters). Any other failure (a damaged
// file, a shape that does not fit, an unwritable folder) is reported with the
// file and the reason; a failed load changes no parameter (nnvae's load is
// all or nothing).
#pragma once
#include <iostream>
#include <string>

#include <nbla/context.hpp>
#include <nnvae/parameter_file.hpp>

namespace nbla {
namespace utils {

inline bool load_parameters(ParameterDirectory& pd, const std::string& filename) {
  try {
    nnvae::load_parameters(pd, filename);
  } catch (const nnvae::ParameterFileError& e) {
    if (e.missing())
      std::cerr << "load_parameters: " << filename << " does not exist; starting from fresh parameters\n";
    else
      std::cerr << "load_parameters: " << e.what() << "\n";
    return false;
  } catch (const std::exception& e) {
    std::cerr << "load_parameters: " << filename << ": " << e.what() << "\n";
    return false;
  }
  std::cout << "load_parameters: loaded " << pd.get_parameters().size() << " parameters from " << filename
            << std::endl;
  return true;
}

inline bool save_parameters(const ParameterDirectory& pd, const std::string& filename) {
  try {
    nnvae::save_parameters(pd, filename);
  } catch (const std::exception& e) {
    std::cerr << "save_parameters: " << e.what() << "\n";
    return false;
  }
  return true;
}

}  // namespace utils
}  // namespace nbla
