// The one translation unit that compiles Boost.Asio and Boost.Beast (built with
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION, see the
// top-level meson.build). Boost.JSON and Boost.URL come compiled from Debian's
// libboost-json1.81 and libboost-url1.81.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
