// emu_registry.h: how each kernel file's entry points register with the CPU emulator (emu/driver.cpp), which then
// finds them by name in cuModuleGetFunction and calls them with cuLaunchKernel's parameter array, unpacked by the
// kernel's own signature.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <utility>

using EmuKernel = std::function<void(void**)>;
std::map<std::string, EmuKernel>& optlab_emu_kernels();

template <typename... A, std::size_t... I>
void emu_call(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*reinterpret_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(p[I])...);
}

template <typename... A>
bool emu_register(const char* name, void (*f)(A...)) {
    optlab_emu_kernels()[name] = [f](void** p) { emu_call(f, p, std::index_sequence_for<A...>{}); };
    return true;
}

#define EMU_KERNEL(name) static bool emu_registered_##name = emu_register(#name, &name);
