/* placeholder: see facade/meson.build */
