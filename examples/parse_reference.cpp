// Parses references and digests given on the command line and prints their
// parts, or the error that says what is wrong with them.
//
//   example_parse_reference localhost:5000/library/alpine:3.19
#include <coras/coras.hpp>

#include <iostream>

int main(int argc, char** argv) {
  int status = 0;
  for (int i = 1; i < argc; ++i) {
    std::string why;
    auto ref = coras::reference::try_parse(argv[i], &why);
    if (!ref) {
      std::cerr << why << '\n';
      status = 1;
      continue;
    }
    std::cout << "registry:   " << ref->registry() << '\n'
              << "repository: " << ref->repository() << '\n';
    if (ref->has_digest()) std::cout << "digest:     " << ref->digest().str() << '\n';
    if (ref->has_tag()) std::cout << "tag:        " << ref->tag() << '\n';
  }
  return status;
}
