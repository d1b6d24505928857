// Umbrella header: everything public in coras.
#pragma once

#include <coras/auth/credential.hpp>
#include <coras/auth/docker_config.hpp>
#include <coras/content/memory_store.hpp>
#include <coras/content/oci_layout.hpp>
#include <coras/content/remote_store.hpp>
#include <coras/content/store.hpp>
#include <coras/copy/copy.hpp>
#include <coras/core/descriptor.hpp>
#include <coras/core/digest.hpp>
#include <coras/core/error.hpp>
#include <coras/core/manifest.hpp>
#include <coras/core/media_type.hpp>
#include <coras/core/reference.hpp>
#include <coras/http/body.hpp>
#include <coras/http/client.hpp>
#include <coras/http/fields.hpp>
#include <coras/http/options.hpp>
#include <coras/remote/blob_reader.hpp>
#include <coras/remote/options.hpp>
#include <coras/remote/registry.hpp>
#include <coras/remote/repository.hpp>
#include <coras/server/registry.hpp>
#include <coras/version.hpp>
